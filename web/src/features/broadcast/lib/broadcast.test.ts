import { describe, expect, it } from 'vitest';
import { cameraCorner, fit, gridBoxes, HEIGHT, WIDTH } from './compositor';

describe('fit', () => {
  it.each([
    { name: '4:3 camera in 16:9', src: [640, 480], want: { x: 160, y: 0, w: 960, h: 720 } },
    { name: 'a tall window', src: [720, 1280], want: { x: 438, y: 0, w: 405, h: 720 } },
    { name: 'a wide screen', src: [2560, 1080], want: { x: 0, y: 90, w: 1280, h: 540 } },
    { name: 'no picture yet', src: [0, 0], want: { x: 0, y: 0, w: WIDTH, h: HEIGHT } },
  ])('$name', ({ src, want }) => {
    expect(fit(src[0], src[1], { x: 0, y: 0, w: WIDTH, h: HEIGHT })).toEqual(want);
  });
});

describe('cameraCorner', () => {
  it('sits inside the bottom right, a quarter of the width, 16:9', () => {
    const r = cameraCorner();
    expect(r.w).toBe(320);
    expect(r.h).toBe(180);
    expect(r.x + r.w).toBeLessThan(WIDTH);
    expect(r.y + r.h).toBeLessThan(HEIGHT);
    expect(r.x).toBeGreaterThan(WIDTH / 2);
  });
});

describe('gridBoxes', () => {
  it.each([
    { n: 1, want: [{ x: 0, y: 0, w: 1280, h: 720 }] },
    { n: 2, want: [{ x: 0, y: 0, w: 640, h: 720 }, { x: 640, y: 0, w: 640, h: 720 }] },
    { n: 3, want: [{ x: 0, y: 0, w: 640, h: 360 }, { x: 640, y: 0, w: 640, h: 360 }, { x: 320, y: 360, w: 640, h: 360 }] },
  ])('$n tiles', ({ n, want }) => {
    expect(gridBoxes(n)).toEqual(want);
  });

  it('fits 12 publishers in four by three, inside the picture', () => {
    const boxes = gridBoxes(12);
    expect(boxes).toHaveLength(12);
    for (const b of boxes) {
      expect(b.x + b.w).toBeLessThanOrEqual(WIDTH);
      expect(b.y + b.h).toBeLessThanOrEqual(HEIGHT);
    }
    expect(new Set(boxes.map((b) => `${b.x},${b.y}`)).size).toBe(12);
    expect(gridBoxes(0)).toEqual([]);
  });
});
