import type { ReactNode } from 'react';

type Props = {
  status?: ReactNode; // the live session's status bar, with the link to its health
  info?: ReactNode; // the stream's title, category and tags
  broadcast?: ReactNode; // going live from the browser
  actions?: ReactNode; // stream actions
  chat?: ReactNode; // the channel's chat, with moderation
  preview?: ReactNode; // a player of the streamer's own channel
};

// ManagerPage is the stream manager: the app composes it from the features' parts (features
// do not import each other).
export function ManagerPage({ status, info, broadcast, actions, chat, preview }: Props) {
  return (
    <main className="page manager-page">
      <h1>Stream manager</h1>
      <div className="manager-status">{status}</div>
      <div className="manager-grid">
        <div className="manager-main">
          {info}
          {broadcast}
          {preview}
          {actions}
        </div>
        <div className="manager-side">{chat}</div>
      </div>
    </main>
  );
}
