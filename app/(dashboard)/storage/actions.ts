"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { takeStorageSample } from "@/lib/storage/sampler";

/** "Measure now": a sample (a fresh walk the pages then show, rows, thinning, alerts). */
export const measureNowAction = defineAction(
  "write",
  z.object({}),
  async () => {
    const sample = await takeStorageSample();
    revalidatePath("/", "layout");
    return sample;
  },
  { audit: "storage.measure" },
);
