import { describe, expect, it } from 'vitest';
import { directoryChannels, directoryPath } from '../api/channels';
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
  it('asks for the next page with the cursor, escaped', () => {
    expect(directoryPath({ category: 'music', q: 'jazz', sort: 'recent' }, 'a+b/c=')).toBe('/api/channels?live=true&category=music&q=jazz&after=a%2Bb%2Fc%3D');
  });
  it('joins pages in order, each channel once, where it was first shown', () => {
    const card = (id: string, title = '') => ({ channelId: id, username: id, color: 'blue', avatar: 'bear', isLive: true, title });
    const pages = [
      { channels: [card('a'), card('b')], maxResults: 50, next: 'x' },
      { channels: [card('c'), card('a', 'again')], maxResults: 50, next: 'y' },
      { channels: [], maxResults: 50 },
      { channels: [card('b'), card('d')], maxResults: 50 },
    ];
    expect(directoryChannels(pages).map((c) => `${c.channelId}${c.title}`)).toEqual(['a', 'b', 'c', 'd']);
    expect(directoryChannels([])).toEqual([]);
  });
});
