import { describe, expect, it } from 'vitest';
import { directoryPath } from '../api/channels';
import { filterOf } from './DirectoryPage';
import { parseTags } from './StreamInfoForm';

describe('parseTags', () => {
  it.each([
    ['', []],
    ['chess, beginner-friendly', ['chess', 'beginner-friendly']],
    ['#chess  #retro,,Español', ['chess', 'retro', 'Español']],
  ])('%s', (text, want) => {
    expect(parseTags(text)).toEqual(want);
  });
});

describe('the directory filter', () => {
  it('reads the page URL, with recent as the default sort', () => {
    expect(filterOf(new URLSearchParams('category=music&q=jazz+piano&sort=viewers'))).toEqual({ category: 'music', q: 'jazz piano', sort: 'viewers' });
    expect(filterOf(new URLSearchParams('sort=bogus'))).toEqual({ category: '', q: '', sort: 'recent' });
  });
  it('asks the API for live channels only, leaving out empty filters', () => {
    expect(directoryPath({ category: '', q: '  ', sort: 'recent' })).toBe('/api/channels?live=true');
    expect(directoryPath({ category: 'just-chatting', q: ' café & co ', sort: 'viewers' })).toBe('/api/channels?live=true&category=just-chatting&q=caf%C3%A9+%26+co&sort=viewers');
  });
});
