import { json, route } from "@/lib/http";
import { takeStorageSample } from "@/lib/storage/sampler";

/** Takes a storage sample now (the same work as the System.storage_sample job). */
export const POST = route({ access: "write", audit: "storage.sample" }, async () => json(await takeStorageSample(), 201));
