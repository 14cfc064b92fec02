// The part of `semver` Launchway uses. semver ships no types and @types/semver is not installed; when it is, delete
// this file.
declare module 'semver' {
  /** The normalized version, or null when `version` is not a semantic version. */
  export function valid(version: string): string | null;
  /** True when `a` is greater than `b` by semver precedence (build metadata ignored). Throws on an invalid version. */
  export function gt(a: string, b: string): boolean;
  const semver: { valid: typeof valid; gt: typeof gt };
  export default semver;
}
