import { useState } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router';
import { useMe } from '../lib/session';
import { Avatar } from '../components/Avatar';
import { useLogout } from '../features/auth/api/auth';

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
  const [menuOpen, setMenuOpen] = useState(false);
  const [profileOpen, setProfileOpen] = useState(false);
  const close = () => {
    setMenuOpen(false);
    setProfileOpen(false);
  };
  const onLogout = async () => {
    close();
    await logout.mutateAsync().catch(() => undefined);
    navigate('/', { replace: true });
  };
  return (
    <div className="shell">
      <button type="button" className="menu-toggle" data-testid="floating-menu-toggle" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
        ☰
      </button>
      <aside className={`sidebar${menuOpen ? ' sidebar-open' : ''}`}>
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
            <div className="profile-menu">
              <button type="button" className="profile-button" data-testid="sidebar-avatar" aria-expanded={profileOpen} onClick={() => setProfileOpen(!profileOpen)}>
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
      <div className="content">
        <Outlet />
      </div>
    </div>
  );
}
