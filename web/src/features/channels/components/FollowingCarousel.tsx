import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { Avatar } from '../../../components/Avatar';
import { Spinner } from '../../../components/Spinner';
import { useFollowing } from '../api/channels';

const MAX_AVATARS = 14;

// perFrame follows the reference: 5 avatars at large widths, 4, 3, then 2 on the smallest.
function perFrame(width: number) {
  if (width >= 1024) return 5;
  if (width >= 640) return 4;
  if (width >= 400) return 3;
  return 2;
}

export function FollowingCarousel() {
  const following = useFollowing(true);
  const [page, setPage] = useState(0);
  const [size, setSize] = useState(() => perFrame(window.innerWidth));
  useEffect(() => {
    const onResize = () => setSize(perFrame(window.innerWidth));
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);

  const all = following.data?.channels ?? [];
  const shown = all.slice(0, MAX_AVATARS);
  const pages = Math.max(1, Math.ceil(shown.length / size));
  const current = Math.min(page, pages - 1);
  return (
    <section className="carousel" aria-labelledby="following-heading">
      <div className="carousel-head">
        <h2 id="following-heading">Following</h2>
        {all.length > MAX_AVATARS && (
          <Link to="/following" className="btn btn-secondary">
            View all
          </Link>
        )}
      </div>
      {following.isPending && <Spinner />}
      {following.isError && (
        <div className="empty">
          <p>Failed to load channels</p>
          <button type="button" className="btn btn-secondary" onClick={() => following.refetch()}>
            Try again
          </button>
        </div>
      )}
      {following.data && shown.length === 0 && <p className="empty-title">No channels followed</p>}
      {shown.length > 0 && (
        <div className="carousel-body">
          <button type="button" className="carousel-nav" aria-label="Go to previous page" disabled={current === 0} onClick={() => setPage(current - 1)}>
            ‹
          </button>
          <ul className="carousel-track">
            {shown.slice(current * size, current * size + size).map((c) => (
              <li key={c.channelId}>
                <Link to={`/${c.username}`} className="followed-user" data-testid="followed-user">
                  <Avatar username={c.username} avatar={c.avatar} avatarUrl={c.avatarUrl} color={c.color} size={72} live={c.isLive} />
                  <span>{c.username}</span>
                </Link>
              </li>
            ))}
          </ul>
          <button type="button" className="carousel-nav" aria-label="Go to next page" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
            ›
          </button>
        </div>
      )}
    </section>
  );
}
