// A device's decimal text as a JSON number, only when the number says the same: a serial number with leading
// zeros, an integer beyond 2^53 or 1e999 would change (0012 -> 12, 12345678901234567890 -> 12345678901234567000,
// 1e999 -> null) and stays text.
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export function exactNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const number = Number(text);
  if (!Number.isFinite(number) || /^-?0\d/.test(text)) return undefined;
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(number)) return undefined;
  return number;
}
