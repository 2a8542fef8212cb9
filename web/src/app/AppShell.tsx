import { useEffect, useLayoutEffect, useRef, useState, type MouseEvent } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useMe } from '../lib/session';
import { Avatar } from '../components/Avatar';
import { useLogout } from '../features/auth/api/auth';
import { titleFor } from './title';

const nav = [
  { to: '/', label: 'Home', end: true },
  { to: '/following', label: 'Following' },
  { to: '/health', label: 'Stream health' },
  { to: '/manager', label: 'Stream manager' },
  { to: '/settings', label: 'Settings' },
];

export function AppShell() {
  const me = useMe();
  const logout = useLogout();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [profileOpen, setProfileOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const profileButton = useRef<HTMLButtonElement>(null);
  const profileBox = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const close = () => {
    setMenuOpen(false);
    setProfileOpen(false);
  };

  // Each page has its own title; a new page opens at its top.
  useEffect(() => {
    document.title = titleFor(pathname);
  }, [pathname]);
  useLayoutEffect(() => {
    window.scrollTo(0, 0);
  }, [pathname]);

  // Escape closes the open menu and gives focus back to the button that opened it.
  useEffect(() => {
    if (!menuOpen && !profileOpen) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      if (profileOpen) {
        setProfileOpen(false);
        profileButton.current?.focus();
      } else {
        setMenuOpen(false);
        menuButton.current?.focus();
      }
    };
    // A click outside the profile menu closes it.
    const onDown = (e: globalThis.MouseEvent) => {
      if (profileOpen && !profileBox.current?.contains(e.target as Node)) setProfileOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onDown);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onDown);
    };
  }, [menuOpen, profileOpen]);

  const skip = (e: MouseEvent) => {
    e.preventDefault();
    content.current?.focus();
  };
  const onLogout = async () => {
    close();
    await logout.mutateAsync().catch(() => undefined);
    navigate('/', { replace: true });
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#content" onClick={skip}>
        Skip to content
      </a>
      <button
        type="button"
        ref={menuButton}
        className="menu-toggle"
        data-testid="floating-menu-toggle"
        aria-label="Menu"
        aria-expanded={menuOpen}
        aria-controls="sidebar"
        onClick={() => setMenuOpen(!menuOpen)}
      >
        ☰
      </button>
      {menuOpen && <div className="menu-backdrop" data-testid="menu-backdrop" aria-hidden="true" onClick={() => setMenuOpen(false)} />}
      <aside id="sidebar" className={`sidebar${menuOpen ? ' sidebar-open' : ''}`}>
        <NavLink to="/" className="brand" onClick={close}>
          <span className="brand-dot" aria-hidden="true" /> Livehouse
        </NavLink>
        <nav aria-label="Main">
          {nav.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.end} onClick={close}>
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-foot">
          {me.data ? (
            <div className="profile-menu" ref={profileBox}>
              <button
                type="button"
                ref={profileButton}
                className="profile-button"
                data-testid="sidebar-avatar"
                aria-haspopup="menu"
                aria-expanded={profileOpen}
                onClick={() => setProfileOpen(!profileOpen)}
              >
                <Avatar username={me.data.username} avatar={me.data.avatar} avatarUrl={me.data.avatarUrl} color={me.data.color} size={32} />
                <span>{me.data.username}</span>
              </button>
              {profileOpen && (
                <div className="profile-popup" role="menu">
                  <NavLink role="menuitem" to={`/${me.data.username}`} onClick={close}>
                    My channel
                  </NavLink>
                  <button role="menuitem" type="button" onClick={onLogout}>
                    Log out
                  </button>
                </div>
              )}
            </div>
          ) : (
            me.isSuccess && (
              <div className="auth-links">
                <NavLink to="/login" className="btn btn-secondary" onClick={close}>
                  Log in
                </NavLink>
                <NavLink to="/register" className="btn btn-primary" onClick={close}>
                  Sign up
                </NavLink>
              </div>
            )
          )}
        </div>
      </aside>
      <div className="content" id="content" ref={content} tabIndex={-1}>
        <Outlet />
      </div>
    </div>
  );
}
