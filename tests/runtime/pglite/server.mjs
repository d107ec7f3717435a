// PGlite (PostgreSQL compiled to WASM) with the pgvector extension, served over the Postgres wire
// protocol on 127.0.0.1 for the pgvector RAG store tests.
// Usage: node server.mjs --port N [--max-connections M]. PGlite does not check passwords: any user and
// password are accepted, so the tests cover how the store sends them, not that a server refuses a wrong one.
// Prints "ready <port>" once it accepts connections; exits on SIGTERM/SIGINT.
import { parseArgs } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'max-connections': { type: 'string', default: '4' },
  },
})
const port = Number.parseInt(values.port ?? '', 10)
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs --port N (1-65535)')
  process.exit(2)
}

const db = await PGlite.create({ extensions: { vector } })
const server = new PGLiteSocketServer({
  db,
  host: '127.0.0.1',
  port,
  maxConnections: Number.parseInt(values['max-connections'], 10),
})
await server.start()
console.log(`ready ${port}`)

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  await server.stop()
  await db.close()
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
