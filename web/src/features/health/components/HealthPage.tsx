import { Link } from 'react-router';

// Stream health's shell: sessions, charts and events arrive with live video.
export function HealthPage() {
  return (
    <main className="page">
      <h1>Stream health</h1>
      <div className="empty" data-testid="no-streams">
        <p className="empty-title">No stream sessions</p>
        <p className="muted">Stream sessions will show up here when there is data.</p>
      </div>
      <article className="notice">
        To monitor stream health you must first start a live stream. <Link to="/settings">Settings</Link>
      </article>
    </main>
  );
}
