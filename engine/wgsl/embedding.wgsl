// Token embedding lookup for one row chunk of the table, and its scatter-add backward.
//   forward:  out[t, :] = table[ids[t] - row_start, :]  for ids[t] in [row_start, row_start + rows);
//             other rows of out are left untouched (the table may be split in chunks, one call each)
//   backward: dtable[id - row_start, :] += sum over t with ids[t] == id of d_out[t, :]
// ids is (T) u32; table is (rows, H), read through table_load (ops/operands.ts: f32, or packed
// f16 / bf16 pairs), declared by the preamble at binding 2;
// out, d_out are (T, H) f32; dtable is (rows, H) f32.
// The backward has no float atomics to lean on: the CPU groups tokens by id (the ids are known
// there) into groups = [seg_row (segments), seg_start (segments + 1), perm (tokens in the chunk)],
// and one workgroup per segment (distinct id) sums its tokens' rows in token order: deterministic.
// Flat indices: (wg.y * row_stride + wg.x) * 256 + lid (forward), wg.y * row_stride + wg.x (backward).

struct Params {
  T: u32,
  H: u32,
  row_start: u32,
  rows: u32,
  row_stride: u32,
  segments: u32,  // backward: distinct ids in this chunk
  table_off: u32, // table_load's element offset and row stride (H)
  table_ld: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> groups: array<u32>;
@group(0) @binding(5) var<storage, read> d_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(256)
fn embedding_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (i >= p.T * p.H) { return; }
  let t = i / p.H;
  let c = i % p.H;
  let id = ids[t];
  // id - row_start wraps for id < row_start, so one unsigned compare checks both ends.
  let row = id - p.row_start;
  if (row < p.rows) { out[i] = table_load(0u, row, c); }
}

@compute @workgroup_size(256)
fn embedding_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.y * p.row_stride + wg.x;
  if (s >= p.segments) { return; }
  let row = groups[s];
  let start = groups[p.segments + s];
  let end = groups[p.segments + s + 1u];
  let perm = 2u * p.segments + 1u;
  for (var c = lid; c < p.H; c += 256u) {
    var acc = 0.0;
    for (var k = start; k < end; k++) {
      acc += d_out[groups[perm + k] * p.H + c];
    }
    dtable[row * p.H + c] = dtable[row * p.H + c] + acc;
  }
}
