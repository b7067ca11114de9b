// Written for wd-video (not part of mqtt.js): the helpers TypeScript writes at the top of each
// CommonJS module it compiles, which mqtt.js's build repeats in several files, here once for the
// bundle (index.js points the copies here). They do what TypeScript's (and tslib's) do.
export function __createBinding(o, m, k, k2 = k) {
  let desc = Object.getOwnPropertyDescriptor(m, k);
  if (!desc || ('get' in desc ? !m.__esModule : desc.writable || desc.configurable)) desc = { enumerable: true, get: () => m[k] };
  Object.defineProperty(o, k2, desc);
}

export function __setModuleDefault(o, v) {
  Object.defineProperty(o, 'default', { enumerable: true, value: v });
}

export function __importStar(mod) {
  if (mod?.__esModule) return mod;
  const result = {};
  if (mod != null) for (const k of Object.getOwnPropertyNames(mod)) if (k !== 'default') __createBinding(result, mod, k);
  __setModuleDefault(result, mod);
  return result;
}

export const __importDefault = (mod) => (mod?.__esModule ? mod : { default: mod });

export function __exportStar(m, exports) {
  for (const p in m) if (p !== 'default' && !Object.hasOwn(exports, p)) __createBinding(exports, m, p);
}
