// The glass-to-glass benchmark's timestamp must read back exactly what was drawn, through the
// smearing a video path does, and refuse anything else rather than read a wrong time.
import { describe, expect, it } from 'vitest';
import { COLS, ROWS, cells, decode, since, ticks } from './timecode.mjs';

// render paints cells as the publisher page's fillRect calls do: cell c spans
// [round(c·w/COLS), round((c+1)·w/COLS)) columns, and likewise for rows.
function render(bits, w, h) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const v = bits[r * COLS + c] ? 255 : 0;
      for (let y = Math.round((r * h) / ROWS); y < Math.round(((r + 1) * h) / ROWS); y++) {
        for (let x = Math.round((c * w) / COLS); x < Math.round(((c + 1) * w) / COLS); x++) {
          data.set([v, v, v, 255], (y * w + x) * 4);
        }
      }
    }
  }
  return data;
}

// downscale averages f×f blocks, as a scaler (the encoder's, or drawImage into a small canvas) does.
function downscale(data, w, h, f) {
  const ow = Math.floor(w / f);
  const oh = Math.floor(h / f);
  const out = new Uint8ClampedArray(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let ch = 0; ch < 4; ch++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += data[((y * f + dy) * w + x * f + dx) * 4 + ch];
        out[(y * ow + x) * 4 + ch] = sum / (f * f);
      }
    }
  }
  return out;
}

// smear adds what compression does to flat blocks: ringing of up to ±amp on every pixel
// (a fixed pseudo-random sequence) and a colour cast, so luma is not simply the red channel.
function smear(data, amp) {
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const n = next() * amp;
    out[i] = data[i] + n - 20;
    out[i + 1] = data[i + 1] + n;
    out[i + 2] = data[i + 2] + n + 25;
    out[i + 3] = 255;
  }
  return out;
}

const samples = [0, 1, 2 ** 32 - 1, 0x80000000, 0x12345678, ticks(1_764_990_000_123.4), ticks(4_321.7)];

describe('timecode', () => {
  it('reads back every tick count drawn, full size and through scaling and noise', () => {
    for (const tick of samples) {
      const full = render(cells(tick), 1280, 720);
      expect(decode(full, 1280, 720)).toBe(tick);
      expect(decode(downscale(full, 1280, 720, 8), 160, 90)).toBe(tick);
      const small = render(cells(tick), 160, 90); // what a 160×90 readback of a 320×180 send gives
      expect(decode(smear(small, 60), 160, 90)).toBe(tick);
    }
  });

  it('refuses a picture with any one cell flipped', () => {
    const tick = 0x12345678;
    for (let i = 0; i < COLS * ROWS; i++) {
      const bits = cells(tick);
      bits[i] = !bits[i];
      expect(decode(render(bits, 160, 90), 160, 90), `cell ${i} flipped`).toBeNull();
    }
  });

  it('refuses a picture with a cell neither dark nor light (a blend of two frames)', () => {
    const data = render(cells(0x12345678), 160, 90);
    const x = 10; // in cell 0 of row 0, its middle half
    for (let y = 4; y < 12; y++) for (let dx = 0; dx < 10; dx++) data.set([128, 128, 128, 255], (y * 160 + x - 5 + dx) * 4);
    expect(decode(data, 160, 90)).toBeNull();
  });

  it('refuses pictures that carry no timestamp', () => {
    const black = new Uint8ClampedArray(160 * 90 * 4).fill(0);
    const white = new Uint8ClampedArray(160 * 90 * 4).fill(255);
    const grey = new Uint8ClampedArray(160 * 90 * 4).fill(128);
    for (const data of [black, white, grey]) expect(decode(data, 160, 90)).toBeNull();
    let refused = 0;
    for (let seed = 1; seed <= 200; seed++) {
      // random black-and-white cells: the marker and the CRC must both fail to match by chance
      let s = seed;
      const bits = Array.from({ length: COLS * ROWS }, () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16) & 1 ? true : false);
      if (decode(render(bits, 160, 90), 160, 90) === null) refused++;
    }
    expect(refused).toBe(200);
  });

  it('measures the time since the drawing across the 32-bit wrap', () => {
    expect(since(ticks(1000), 1120.5)).toBeCloseTo(120.5, 5);
    const justBeforeWrap = 2 ** 32 - 5; // 0.5 ms before the count wraps
    expect(since(justBeforeWrap, (2 ** 32 + 1000) / 10)).toBeCloseTo(100.5, 5);
    expect(since(ticks(1000), 990)).toBeCloseTo(-10, 5);
  });
});
