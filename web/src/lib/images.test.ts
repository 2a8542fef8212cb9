import { describe, expect, it } from 'vitest';
import { imageSrc } from './images';

describe('imageSrc', () => {
  it.each([
    ['https://example.com/shoes.png', '/api/images?url=https%3A%2F%2Fexample.com%2Fshoes.png'],
    ['http://shop.example/a b.jpg?x=1&y=2', '/api/images?url=http%3A%2F%2Fshop.example%2Fa%2520b.jpg%3Fx%3D1%26y%3D2'],
    ['/api/assets/ch_1/avatar/3', '/api/assets/ch_1/avatar/3'],
    [`${window.location.origin}/favicon.svg`, '/favicon.svg'],
    ['//evil.example/x.png', ''],
    ['javascript:alert(1)', ''],
    ['data:image/png;base64,AAAA', ''],
    ['not a url', ''],
    ['', ''],
  ])('%s → %s', (url, want) => {
    expect(imageSrc(url)).toBe(want);
  });
});
