import fs from "node:fs";
import { BACKGROUND_NICENESS } from "@/lib/db/background-priority";

/** The niceness of each thread of this process, by thread id (Linux: /proc/self/task/<tid>/stat, field 19). */
export function threadNiceness(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      out.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // The thread ended while listed.
    }
  }
  return out;
}

/** The ids of this process's threads that run at the background niceness (lib/db/background-priority.ts). */
export function backgroundThreads(): Set<string> {
  return new Set([...threadNiceness()].filter(([, nice]) => nice === BACKGROUND_NICENESS).map(([tid]) => tid));
}
