import { useRef, useState, type ChangeEvent } from 'react';
import { isApiError } from '../../../lib/api-client';
import { avatars, colors, colorValue } from '../../../lib/profile';
import type { Me } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { Avatar } from '../../../components/Avatar';
import { Modal } from '../../../components/Modal';
import { useAppearance, useDeleteAsset, useUpload } from '../api/channels';

const limits = { avatar: 1, banner: 5 } as const;
const accepted = ['image/jpeg', 'image/png', 'image/webp'];

export function ChannelSettings({ me }: { me: Me }) {
  const toast = useToast();
  const appearance = useAppearance();
  const upload = useUpload();
  const remove = useDeleteAsset();
  const [confirmDelete, setConfirmDelete] = useState<'avatar' | 'banner'>();
  const [uploadError, setUploadError] = useState<{ kind: string; text: string }>();
  const avatarInput = useRef<HTMLInputElement>(null);
  const bannerInput = useRef<HTMLInputElement>(null);

  const save = async (b: { color?: string; avatar?: string }, done: string) => {
    try {
      await appearance.mutateAsync(b);
      toast.success(done);
    } catch (e) {
      toast.error(isApiError(e) ? e.message : 'Could not save');
    }
  };

  const onFile = (kind: 'avatar' | 'banner') => async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setUploadError(undefined);
    if (!accepted.includes(file.type)) {
      setUploadError({ kind, text: "Can't select the file you chose" });
      return;
    }
    if (file.size > limits[kind] * 1024 * 1024) {
      setUploadError({ kind, text: 'Image exceeded max file size' });
      return;
    }
    try {
      await upload.mutateAsync({ kind, file });
      if (kind === 'avatar') {
        await appearance.mutateAsync({ avatar: 'custom' });
        toast.success('Image uploaded and avatar saved');
      } else {
        toast.success('Profile banner uploaded');
      }
    } catch (err) {
      setUploadError({ kind, text: isApiError(err) ? err.message : 'Upload failed' });
    }
  };

  const doDelete = async () => {
    if (!confirmDelete) return;
    try {
      await remove.mutateAsync(confirmDelete);
      toast.success(confirmDelete === 'avatar' ? 'Avatar image deleted' : 'Profile banner image deleted');
    } catch {
      toast.error('Could not delete the image');
    }
    setConfirmDelete(undefined);
  };

  return (
    <section className="card settings-section" aria-labelledby="channel-heading">
      <h2 id="channel-heading">Channel settings</h2>

      <h3>Color</h3>
      <div className="swatches" role="radiogroup" aria-label="Profile color">
        {colors.map((c) => (
          <button key={c} type="button" role="radio" aria-checked={me.color === c} aria-label={c} className="swatch" style={{ background: colorValue[c] }} onClick={() => save({ color: c }, 'Color saved')} />
        ))}
      </div>

      <h3>Avatar</h3>
      <div className="avatar-picker" role="radiogroup" aria-label="Avatar">
        {avatars.map((a) => (
          <button key={a} type="button" role="radio" aria-checked={me.avatar === a} aria-label={a} className="avatar-choice" onClick={() => save({ avatar: a }, 'Avatar saved')}>
            <Avatar username={me.username} avatar={a} color={me.color} size={44} />
          </button>
        ))}
        {me.avatarUrl && (
          <button type="button" role="radio" aria-checked={me.avatar === 'custom'} aria-label="custom" className="avatar-choice" onClick={() => save({ avatar: 'custom' }, 'Avatar saved')}>
            <Avatar username={me.username} avatar="custom" avatarUrl={me.avatarUrl} color={me.color} size={44} />
          </button>
        )}
      </div>
      <div className="upload-row">
        <input ref={avatarInput} id="avatar-upload" type="file" accept={accepted.join(',')} hidden onChange={onFile('avatar')} data-testid="avatar-file" />
        <button type="button" className="btn btn-secondary" onClick={() => avatarInput.current?.click()}>
          Upload avatar
        </button>
        {me.avatarUrl && (
          <button type="button" className="btn btn-ghost" onClick={() => setConfirmDelete('avatar')}>
            Delete avatar image
          </button>
        )}
        <span className="hint">File format: JPEG, PNG, WebP (Max {limits.avatar} MB)</span>
      </div>
      {uploadError?.kind === 'avatar' && <p className="error-text" role="alert">{uploadError.text}</p>}

      <h3>Profile banner</h3>
      {me.bannerUrl && <img className="banner-preview" src={me.bannerUrl} alt="Your banner" />}
      <div className="upload-row">
        <input ref={bannerInput} id="banner-upload" type="file" accept={accepted.join(',')} hidden onChange={onFile('banner')} data-testid="banner-file" />
        <button type="button" className="btn btn-secondary" onClick={() => bannerInput.current?.click()}>
          {me.bannerUrl ? 'Replace banner' : 'Upload banner'}
        </button>
        {me.bannerUrl && (
          <button type="button" className="btn btn-ghost" onClick={() => setConfirmDelete('banner')}>
            Delete banner
          </button>
        )}
        <span className="hint">File format: JPEG, PNG, WebP (Max {limits.banner} MB)</span>
      </div>
      {uploadError?.kind === 'banner' && <p className="error-text" role="alert">{uploadError.text}</p>}

      {confirmDelete && (
        <Modal title="Delete image" onClose={() => setConfirmDelete(undefined)}>
          <p>Are you sure you want to delete your {confirmDelete} image?</p>
          <div className="modal-actions">
            <button type="button" className="btn btn-secondary" onClick={() => setConfirmDelete(undefined)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={doDelete}>
              Delete
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
