/**
 * The DNSSEC acceptance suite for dane-ns: the validation table of validation-cases.ts (>= 85 questions over
 * the oracle zones) through a real validating Unbound whose trust anchors come from `dane-ns ds`, cold and
 * warm (aggressive NSEC cache), delv agreeing on a subset, and a wrong anchor caught. The same file proves
 * the table against Knot DNS (unbound-knot.test.ts).
 */
process.env.VALIDATION_SUBJECT = 'dane-ns';
await import('./unbound-knot.test.js');
