import { useId, type InputHTMLAttributes } from 'react';

type Props = InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string; hint?: string };

// TextField is a labelled input with its error message.
export function TextField({ label, error, hint, id, ...rest }: Props) {
  const auto = useId();
  const inputId = id ?? auto;
  const msgId = `${inputId}-msg`;
  return (
    <div className={`field${error ? ' field-error' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <input id={inputId} aria-invalid={!!error} aria-describedby={error || hint ? msgId : undefined} {...rest} />
      {(error || hint) && (
        <p id={msgId} className={error ? 'error-text' : 'hint'}>
          {error ?? hint}
        </p>
      )}
    </div>
  );
}
