import type { Me } from '../lib/session';

// alice is a signed-in streamer as GET /api/me returns her, for tests that need one.
export const alice: Me = {
  id: 'u_1',
  username: 'alice',
  email: 'alice@example.com',
  emailVerified: true,
  color: 'blue',
  avatar: 'bear',
  createdAt: '2026-11-25T10:00:00Z',
  channel: { id: 'ch_1', type: 'BASIC', streamKey: 'sk_1', chatRoomId: 'room_1', rtmpUrl: '', whipUrl: '', playbackUrl: '', title: '', category: '', categoryName: '', tags: [] },
};
