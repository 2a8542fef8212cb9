import { useEffect, useRef } from 'react';
import { Link, Navigate, useLocation, useNavigate, useParams } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { useMe } from '../../../lib/session';
import { Spinner } from '../../../components/Spinner';
import { useAcceptInvite } from '../api/privacy';

// InvitePage is /:username/invite/:code: a signed-in user joins the channel's allowed viewers
// and goes on to the channel; a signed-out one signs in first and comes back here.
export function InvitePage() {
  const { username = '', code = '' } = useParams();
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  const accept = useAcceptInvite();
  const sent = useRef(false);
  const signedIn = !!me.data;
  useEffect(() => {
    if (!signedIn || sent.current) return;
    sent.current = true;
    accept.mutate(code, { onSuccess: (r) => navigate(`/${r.username}`, { replace: true }) });
  }, [signedIn, code, accept, navigate]);

  if (me.isPending) return <main className="page"><Spinner /></main>;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (accept.isError) {
    return (
      <main className="page not-found">
        <h1>Invite not valid</h1>
        <p className="muted" data-testid="invite-error">
          {isApiError(accept.error) ? accept.error.message : 'Could not accept this invite.'}
        </p>
        <Link to={`/${username}`} className="btn btn-primary">
          Go to {username}
        </Link>
      </main>
    );
  }
  return (
    <main className="page">
      <Spinner label="Accepting the invite" />
    </main>
  );
}
