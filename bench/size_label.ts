/**
 * A chunk size as the table, the checks and the progress lines print it.
 *
 * @example
 * ```ts
 * label(512); // "512 B"
 * label(61440); // "60 KiB"
 * label(1 << 20); // "1 MiB"
 * ```
 *
 * @module
 */
export const label = (size: number): string => size >= 1 << 20 ? `${size / (1 << 20)} MiB` : size >= 1024 ? `${+(size / 1024).toFixed(1)} KiB` : `${size} B`;
