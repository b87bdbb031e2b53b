"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { takeStorageSample } from "@/lib/storage/sampler";
import { getStorageUsage } from "@/lib/storage/usage";

/** "Measure now": a sample (rows, thinning, alerts) and a fresh walk for the page. */
export const measureNowAction = defineAction("write", z.object({}), async () => {
  const sample = await takeStorageSample();
  await getStorageUsage({ fresh: true });
  revalidatePath("/", "layout");
  return sample;
}, { audit: "storage.measure" });
