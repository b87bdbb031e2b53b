"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { executionId } from "@/lib/executions/inputs";
import { stopExecution } from "@/lib/scheduler/run-control";

export const stopExecutionAction = defineAction(
  "write",
  z.object({ id: executionId }),
  async ({ id }, principal) => {
    const execution = await stopExecution(id, principal);
    revalidatePath("/executions");
    return { id, status: execution.status };
  },
  { audit: "execution.stop", target: (input) => input.id },
);
