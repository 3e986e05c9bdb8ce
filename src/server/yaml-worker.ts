/**
 * Worker thread of server/yaml-aside.ts: parses one zone file's text as one YAML document (zone/yaml.ts
 * parseZoneYaml) and posts back the zone source and its problems (plain data, cloned to the server's thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ZoneProblem } from '../zone/errors.js';
import { parseZoneYaml } from '../zone/yaml.js';

const { file, text } = workerData as { file: string; text: string };
const problems: ZoneProblem[] = [];
const src = parseZoneYaml(file, text, problems);
parentPort!.postMessage({ src, problems });
