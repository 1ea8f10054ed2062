// Reads Parquet files with hyparquet (an independent reader) and prints, for each, one JSON
// line: {"file", "codecs" (each column chunk's compression), "row_groups", "rows"}. 64-bit integers are
// printed as strings. Usage: node read_parquet.mjs <node_modules dir> <file>...
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, ...files] = process.argv.slice(2)
const require = createRequire(join(modules, 'resolve.js'))
const load = name => import(pathToFileURL(require.resolve(name)).href)
const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await load('hyparquet')
const { compressors } = await load('hyparquet-compressors')

for (const f of files) {
  const file = await asyncBufferFromFile(f)
  const md = await parquetMetadataAsync(file)
  const codecs = [...new Set(md.row_groups.flatMap(g => g.columns.map(c => c.meta_data.codec)))]
  const rows = await parquetReadObjects({ file, compressors })
  console.log(JSON.stringify({ file: f, codecs, row_groups: md.row_groups.length, rows }, (k, v) => typeof v === 'bigint' ? v.toString() : v))
}
