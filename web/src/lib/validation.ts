// Client-side checks with the reference's messages; the server applies the same rules.

export const messages = {
  username: 'Use 4 to 20 characters with a mix of letters, numbers & symbols.',
  email: 'Enter a valid email.',
  password: 'Use at least 8 characters with upper and lower case letters, a number and a symbol.',
  confirm: 'Passwords do not match.',
  samePassword: 'Your new password cannot be the same as your old password.',
  required: 'This field is required.',
};

const usernameRE = /^[a-z0-9._]{4,20}$/i;
const emailRE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export function validateUsername(v: string): string | undefined {
  return usernameRE.test(v) ? undefined : messages.username;
}

export function validateEmail(v: string): string | undefined {
  return emailRE.test(v.trim()) ? undefined : messages.email;
}

export function validatePassword(v: string): string | undefined {
  const ok =
    v.length >= 8 &&
    v.length <= 256 &&
    !/\s/.test(v) &&
    /[a-z]/.test(v) &&
    /[A-Z]/.test(v) &&
    /[0-9]/.test(v) &&
    /[^a-zA-Z0-9\s]/.test(v);
  return ok ? undefined : messages.password;
}

export function validateConfirm(password: string, confirm: string): string | undefined {
  return password === confirm ? undefined : messages.confirm;
}

// Messages for the server's error codes, where the reference words them differently.
export const errorMessages: Record<string, string> = {
  UsernameExists: 'This username has been taken.',
  ReservedUsername: 'This username is unavailable.',
  EmailExists: 'This email has already been used.',
  InvalidCredentials: 'Incorrect username or password',
  TooManyAttempts: 'Attempt limit exceeded, please try again later',
  IncorrectPassword: 'Incorrect password.',
  InvalidCode: 'This link is invalid or has expired.',
};
