import { useState } from 'react';
import { GoLiveChecklist } from '../features/onboarding/components/GoLiveChecklist';
import { useMe } from '../lib/session';

const dismissedKey = 'livehouse.goLiveChecklist.hidden';

// GoLiveIntro shows a signed-in user the Go live checklist on the home page until they hide it.
export function GoLiveIntro() {
  const me = useMe();
  const [hidden, setHidden] = useState(() => localStorage.getItem(dismissedKey) === '1');
  if (!me.data || hidden) return null;
  return (
    <GoLiveChecklist
      me={me.data}
      onDismiss={() => {
        localStorage.setItem(dismissedKey, '1');
        setHidden(true);
      }}
    />
  );
}
