/** "/sensors/temp?unit=C&x" -> Uri-Path ["sensors", "temp"] and Uri-Query ["unit=C", "x"] (RFC 7252 §6.4). */
export function splitTarget(target: string): { path: string[]; query: string[] } {
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? '' : target.slice(mark + 1);
  return {
    path: path.split('/').filter((s) => s !== ''),
    query: query.split('&').filter((s) => s !== ''),
  };
}
