/**
 * The whole serve.test.ts suite again, with the server on the node:dgram UDP engine (the fallback when the
 * native batched engine is not built), so both engines are proven end to end with real clients.
 */
process.env.DANE_NS_TEST_UDP_ENGINE = 'dgram';
await import('./serve.test.js');
