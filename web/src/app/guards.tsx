import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useMe } from '../lib/session';
import { Spinner } from '../components/Spinner';

// RequireAuth sends signed-out visitors to /login, remembering where they were going.
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Spinner />;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

// GuestOnly sends signed-in users on to where they were going, except while /login is
// confirming an emailed link.
export function GuestOnly({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  if (me.isPending) return <Spinner />;
  if (me.data && !new URLSearchParams(location.search).has('code')) return <Navigate to={from} replace />;
  return children;
}
