// Reads Parquet files with hyparquet (an independent reader) and prints, for each, one JSON
// line: {"file", "codecs" (each column chunk's compression), "row_groups", "rows"}. 64-bit integers are
// printed as strings. With --ocsf, rows are printed as OCSF JSON records instead: 64-bit integers
// as JSON numbers (every digit kept) and null values (absent optional columns) left out.
// Usage: node read_parquet.mjs <node_modules dir> [--ocsf] <file>...
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

let [modules, ...files] = process.argv.slice(2)
const ocsf = files[0] === '--ocsf'
if (ocsf) files = files.slice(1)

// asOCSF is v as JSON text, BigInts as numbers, without the null members of objects.
function asOCSF(v) {
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return '[' + v.map(x => x === null || x === undefined ? 'null' : asOCSF(x)).join(',') + ']'
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    return '{' + Object.entries(v).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => JSON.stringify(k) + ':' + asOCSF(x)).join(',') + '}'
  }
  return JSON.stringify(v)
}
const require = createRequire(join(modules, 'resolve.js'))
const load = name => import(pathToFileURL(require.resolve(name)).href)
const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await load('hyparquet')
const { compressors } = await load('hyparquet-compressors')

for (const f of files) {
  const file = await asyncBufferFromFile(f)
  const md = await parquetMetadataAsync(file)
  const codecs = [...new Set(md.row_groups.flatMap(g => g.columns.map(c => c.meta_data.codec)))]
  const rows = await parquetReadObjects({ file, compressors })
  if (ocsf) {
    console.log('{"file":' + JSON.stringify(f) + ',"codecs":' + JSON.stringify(codecs) + ',"row_groups":' + md.row_groups.length + ',"rows":' + asOCSF(rows) + '}')
    continue
  }
  console.log(JSON.stringify({ file: f, codecs, row_groups: md.row_groups.length, rows }, (k, v) => typeof v === 'bigint' ? v.toString() : v))
}
