/** Empty on purpose: without it Next.js picks up the product's instrumentation.ts from the Turbopack root. */
export function register() {}
