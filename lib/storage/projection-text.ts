/** The disk-full projection in words, the same on the Overview and the Storage page (client-safe). */
import { formatBytesChange, formatHoursLeft, formatTimestamp } from "@/lib/format";
import type { DiskProjection } from "@/lib/storage/types";

/** Hours of history with one decimal while short: "0.2", "5.5", then whole hours: "12". */
function hoursText(hours: number): string {
  return hours < 10 ? String(Math.floor(hours * 10) / 10) : String(Math.floor(hours));
}

export interface ProjectionText {
  /** the headline: "3.5 d", "not filling", "—" until there is enough history */
  fullIn: string;
  /** what it rests on: the rate and date, or how much history there is of what is needed */
  hint: string;
  /** Mimir's own growth per hour, or "—" until there is enough history */
  ourRate: string;
  /** the rest of the disk's change per hour (other programs), or "—" */
  otherRate: string;
}

export function describeProjection(projection: DiskProjection): ProjectionText {
  if (!projection.enough_history || projection.growth_bytes_per_hour === null) {
    const short = projection.history_hours < projection.needed_hours;
    return {
      fullIn: "—",
      hint: short
        ? `not enough history yet (${hoursText(projection.history_hours)} of ${projection.needed_hours} hours)`
        : `not enough history yet (${projection.samples} of ${projection.needed_samples} samples)`,
      ourRate: "—",
      otherRate: "—",
    };
  }
  const ourRate = `${formatBytesChange(projection.growth_bytes_per_hour)}/h`;
  const otherRate = projection.other_growth_bytes_per_hour === null ? "—" : `${formatBytesChange(projection.other_growth_bytes_per_hour)}/h`;
  if (projection.hours_left === null || projection.full_at === null) {
    return { fullIn: "not filling", hint: "Mimir's volumes are not growing", ourRate, otherRate };
  }
  return { fullIn: formatHoursLeft(projection.hours_left), hint: `at Mimir's ${ourRate}, around ${formatTimestamp(projection.full_at)}`, ourRate, otherRate };
}
