#!/usr/bin/env node
// Adds or replaces a user in a password file: node dist/node/server/passwd.js <file> <uid> <password>
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { idProblem } from '../src/protocol/index.js';
import { hashPassword } from './passwords.js';

const [file, uid, password] = process.argv.slice(2);
if (!file || !uid || password === undefined) {
  console.error('usage: node dist/node/server/passwd.js <password-file> <uid> <password>');
  process.exit(2);
}
const problem = idProblem(uid);
if (problem) {
  console.error(problem);
  process.exit(2);
}
const lines = existsSync(file)
  ? readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith(`${uid}:`))
  : [];
lines.push(`${uid}:${hashPassword(password)}`);
writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
console.log(`${uid} saved in ${file}`);
