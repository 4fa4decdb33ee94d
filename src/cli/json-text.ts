// The one way pytor prints JSON: JSON.stringify, then every character that could steer a
// terminal or reorder what it shows written as a \uXXXX escape.
//
// JSON.stringify already escapes C0 controls (U+0000-U+001F) and lone surrogates (as \udXXX).
// It leaves raw: DEL and the C1 controls (U+007F-U+009F; U+009B is a CSI on some terminals),
// the line and paragraph separators U+2028/U+2029, and the bidi controls: embeddings and
// overrides U+202A-U+202E, isolates U+2066-U+2069, the marks U+200E/U+200F/U+061C. Names,
// comments, tracker failure reasons and peer ids are hostile text, and a U+202E in one flips
// the rest of the line on screen.
//
// The escaping is done on the JSON text, not on the strings before stringify: these
// characters can only occur inside JSON strings (the syntax is ASCII), and \uXXXX there means
// the same character, so a script that parses the output gets the original string back,
// while a person looking at it sees only ASCII escapes.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** `value` as JSON text (indented by `indent`, 2 by default) with no raw control or bidi character. */
export function jsonText(value: unknown, indent: number | undefined = 2): string {
  const text = JSON.stringify(value, null, indent) as string | undefined;
  if (text === undefined) return 'null'; // undefined, a function or a symbol at the top
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
