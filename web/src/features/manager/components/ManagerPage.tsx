import type { ReactNode } from 'react';

// The stream manager's shell: its status bar and cards arrive with live video, web broadcast
// and stream actions. The status bar comes from stream health, through the app.
export function ManagerPage({ statusBar }: { statusBar?: ReactNode }) {
  return (
    <main className="page">
      <h1>Stream manager</h1>
      {statusBar}
      <div className="empty">
        <p className="empty-title">Go live</p>
        <p className="muted">Stream from OBS with the ingest server URL and stream key in Settings. Going live from the browser, stream actions and chat come next.</p>
      </div>
    </main>
  );
}
