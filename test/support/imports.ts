/**
 * Which modules a TypeScript source loads at run time, read from its text: the scanner behind the dependency
 * direction check in test/meta/conventions.test.ts. Type-only forms are left out because they are erased at
 * compile time and create no run-time dependency (TypeScript `verbatimModuleSyntax` keeps every other form).
 */

/**
 * Specifiers of the value imports and re-exports of a module, in the order the forms are scanned:
 * `import x from 'm'`, `import 'm'`, `export { x } from 'm'`, `export * from 'm'` and dynamic `import('m')`.
 * Ignored: `import type ... from`, `export type ... from`, and `import('m')` in a type position
 * (`typeof import('m')`, `import('m').Name` not called).
 */
export function valueImports(text: string): string[] {
  const out: string[] = [];
  // Static forms open a line (prettier puts every statement on its own line); the clause may span lines.
  for (const m of text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) if (!m[1]) out.push(m[2]!);
  for (const m of text.matchAll(/^import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/^export\s+(type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s+['"]([^'"]+)['"]/gm))
    if (!m[1]) out.push(m[2]!);
  // Dynamic imports may stand anywhere in an expression.
  for (const m of text.matchAll(/(\btypeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)(\s*\.\s*[\w$]+\s*(\()?)?/g)) {
    const typeQuery = m[1] !== undefined;
    const typeReference = m[3] !== undefined && m[4] === undefined;
    if (!typeQuery && !typeReference) out.push(m[2]!);
  }
  return out;
}
