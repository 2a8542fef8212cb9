// The stream manager's shell: its status bar and cards arrive with live video, web broadcast
// and stream actions.
import type { ReactNode } from 'react';

// broadcast is the web broadcast card; App passes it in, since features never import each other.
export function ManagerPage({ broadcast }: { broadcast?: ReactNode }) {
  return (
    <main className="page">
      <h1>Stream manager</h1>
      <div className="status-bar" aria-label="Stream status">
        <span data-testid="status-item-timer">--:--:--</span>
        <span data-testid="status-item-concurrent-views">0 views</span>
        <span>Offline</span>
      </div>
      {broadcast}
      <div className="empty">
        <p className="empty-title">Go live</p>
        <p className="muted">Stream from OBS with the ingest server URL and stream key in Settings. Going live from the browser, stream actions and chat come next.</p>
      </div>
    </main>
  );
}
