// A timestamp drawn into a video picture and read back from a decoded frame, for the
// glass-to-glass benchmark (glass-to-glass.mjs): the whole picture is a grid of black and white
// cells, so it survives H.264 at any bitrate the browser picks and any downscale it makes.
//
// The cells (row by row, COLS × ROWS) carry, each cell one bit, most significant first:
//   32 bits  the time in tenths of a millisecond, modulo 2^32 (wraps every 5 days);
//    8 bits  a CRC-8 of those 4 bytes;
//    8 bits  a fixed marker.
// A reader takes the mean luma of each cell's middle half (away from the edges that blocking
// and scaling smear) and refuses the frame if any cell is neither clearly dark nor clearly
// light, or if the marker or the CRC do not match: a frame it cannot read is counted, never
// turned into a wrong time.
//
// Plain functions on numbers and RGBA arrays, so that a unit test (timecode.test.mjs) can
// check the round trip without a browser; the pages draw cells() with fillRect and read
// getImageData's data with decode().

export const COLS = 8;
export const ROWS = 6;
const MARKER = 0b10110010;
const DARK = 80; // a cell's mean luma below this is a 0,
const LIGHT = 176; // above this a 1; between, the frame is unreadable

// crc8 is CRC-8 (polynomial 0x07) of bytes.
export function crc8(bytes) {
  let c = 0;
  for (const b of bytes) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}

// ticks is a time in milliseconds as the 32-bit count of tenths of a millisecond drawn.
export function ticks(ms) {
  return Math.round(ms * 10) % 2 ** 32;
}

// cells is the picture of a tick count: COLS × ROWS booleans, true for a white cell.
export function cells(tick) {
  const bytes = [(tick >>> 24) & 0xff, (tick >>> 16) & 0xff, (tick >>> 8) & 0xff, tick & 0xff];
  const out = [];
  for (const byte of [...bytes, crc8(bytes), MARKER]) {
    for (let i = 7; i >= 0; i--) out.push(((byte >> i) & 1) === 1);
  }
  return out;
}

// decode reads a tick count back from an RGBA picture (width × height, 4 bytes a pixel, as
// ImageData's data), or returns null if the picture does not carry one.
export function decode(data, width, height) {
  const bits = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const x0 = Math.floor(((c + 0.25) * width) / COLS);
      const x1 = Math.max(x0 + 1, Math.floor(((c + 0.75) * width) / COLS));
      const y0 = Math.floor(((r + 0.25) * height) / ROWS);
      const y1 = Math.max(y0 + 1, Math.floor(((r + 0.75) * height) / ROWS));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        }
      }
      const luma = sum / ((x1 - x0) * (y1 - y0));
      if (luma > DARK && luma < LIGHT) return null;
      bits.push(luma >= LIGHT ? 1 : 0);
    }
  }
  const bytes = [];
  for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((b, bit) => (b << 1) | bit, 0));
  const [b0, b1, b2, b3, crc, marker] = bytes;
  if (marker !== MARKER || crc !== crc8([b0, b1, b2, b3])) return null;
  return ((b0 << 24) >>> 0) + (b1 << 16) + (b2 << 8) + b3;
}

// since is how many milliseconds after the drawn tick count the time nowMs is, across the
// 32-bit wrap (a time drawn just before it wrapped still reads right); negative if nowMs is
// earlier than the drawing.
export function since(tick, nowMs) {
  let d = (ticks(nowMs) - tick + 2 ** 32) % 2 ** 32;
  if (d >= 2 ** 31) d -= 2 ** 32;
  return d / 10;
}
