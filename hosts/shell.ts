// Shell quoting for the scripts drydock renders.

/** One shell word, single-quoted: safe for any text. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
