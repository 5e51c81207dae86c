// Static memory map. Everything the data path touches lives in regions reserved here
// (memory.data) or in the context arena sized once by coreInit; nothing is allocated later.
import { MAX_PACKET } from './abi';

/** The packet IO buffer: JS writes a packet here, one export protects/unprotects it in place.
 *  It has room for the largest packet plus trailer (SRTCP index, MKI, tag). */
export const IO_BYTES: i32 = MAX_PACKET + 64;
export const IO_PTR: usize = memory.data(IO_BYTES, 64);

/** Scratch for tests of the primitives (AES, SHA-1, HMAC) from JS. Not used by the data path. */
export const TEST_SCRATCH_BYTES: i32 = 65536;
export const TEST_SCRATCH_PTR: usize = memory.data(TEST_SCRATCH_BYTES, 64);

/** Per-call scratch for the data path: IVs, counter blocks, computed tags, KDF blocks. */
export const WORK_BYTES: i32 = 512;
export const WORK_PTR: usize = memory.data(WORK_BYTES, 64);

/** The relay's packet ring: a received packet is copied into a free slot, transformed in
 *  place, and sent from there; a slot is reused only after its send completed. Two slots'
 *  worth of headroom per packet covers the SRTCP trailer and any re-encryption growth. */
export const IO_SLOT_BYTES: i32 = 2048;
export const IO_RING_SLOTS: i32 = 1024;
export const IO_RING_PTR: usize = memory.data(IO_SLOT_BYTES * IO_RING_SLOTS, 64);
