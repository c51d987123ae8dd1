// Types for prune-build-deps.mjs, which runs as plain JavaScript inside the image build.
export const BUILD_ONLY: string[];
export function splitBuildOnly(
  lock: { packages?: Record<string, Record<string, unknown>> },
  buildOnly?: string[],
): { keep: string[]; remove: string[] };
