package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
)

// KeyInfo describes one key file.
type KeyInfo struct {
	ID       ID
	Created  time.Time
	Host     string
	Username string
	// Current is true for the key this Repository was opened with.
	Current bool
}

// ErrCurrentKey is returned when removing the key the repository was opened
// with; open it with another password first.
var ErrCurrentKey = errors.New("cannot remove the key in use")

func (o KeyOptions) withDefaults() KeyOptions {
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = crypto.DefaultKDFParams
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Username == "" {
		if u, err := user.Current(); err == nil {
			o.Username = u.Username
		}
	}
	return o
}

func saveKey(ctx context.Context, be backend.Backend, k *crypto.Key, password string, opts KeyOptions) (ID, error) {
	if password == "" {
		return ID{}, errors.New("empty password")
	}
	opts = opts.withDefaults()
	kf, err := crypto.NewKeyFile(k, password, opts.KDF)
	if err != nil {
		return ID{}, err
	}
	kf.Host, kf.Username = opts.Host, opts.Username
	data, err := kf.Marshal()
	if err != nil {
		return ID{}, err
	}
	return saveFile(ctx, be, backend.KeyFile, data)
}

// openKey finds a key file that password opens and that opens the config.
// Damaged key files are reported only if no key opens.
func openKey(ctx context.Context, be backend.Backend, password string, cfgData []byte) (*crypto.Key, ID, Config, error) {
	ids, err := listIDs(ctx, be, backend.KeyFile)
	if err != nil {
		return nil, ID{}, Config{}, err
	}
	if len(ids) == 0 {
		return nil, ID{}, Config{}, fmt.Errorf("no key files: %w", ErrWrongPassword)
	}
	var problems []error
	for _, id := range ids {
		k, err := openKeyFile(ctx, be, id, password)
		if errors.Is(err, crypto.ErrWrongPassword) {
			continue
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		cfg, err := decodeConfig(k, cfgData)
		if err != nil {
			// A key of another repository (or a damaged config): keep trying.
			problems = append(problems, fmt.Errorf("key %s opens but does not decrypt the config: %w", id.Short(), err))
			continue
		}
		return k, id, cfg, nil
	}
	if len(problems) == 0 {
		return nil, ID{}, Config{}, ErrWrongPassword
	}
	return nil, ID{}, Config{}, errors.Join(append([]error{ErrWrongPassword}, problems...)...)
}

func openKeyFile(ctx context.Context, be backend.Backend, id ID, password string) (*crypto.Key, error) {
	data, err := loadFile(ctx, be, backend.KeyFile, id)
	if err != nil {
		return nil, err
	}
	kf, err := crypto.ParseKeyFile(data)
	if err != nil {
		return nil, &FileError{File: keyHandle(id), Op: "decode", Err: err}
	}
	return kf.Open(password)
}

func keyHandle(id ID) backend.Handle {
	return backend.Handle{Type: backend.KeyFile, Name: id.String()}
}

// AddKey stores a new key file that opens the repository with password.
func (r *Repository) AddKey(ctx context.Context, password string, opts KeyOptions) (ID, error) {
	return saveKey(ctx, r.be, r.key, password, opts)
}

// Keys lists the key files, oldest first.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	ids, err := listIDs(ctx, r.be, backend.KeyFile)
	if err != nil {
		return nil, err
	}
	keys := make([]KeyInfo, 0, len(ids))
	for _, id := range ids {
		data, err := loadFile(ctx, r.be, backend.KeyFile, id)
		if err != nil {
			return nil, err
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			return nil, &FileError{File: keyHandle(id), Op: "decode", Err: err}
		}
		keys = append(keys, KeyInfo{ID: id, Created: kf.Created, Host: kf.Host,
			Username: kf.Username, Current: id == r.currentKey()})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
	return keys, nil
}

// RemoveKey deletes a key file. The key in use cannot be removed, so the
// last key never is.
func (r *Repository) RemoveKey(ctx context.Context, id ID) error {
	if id == r.currentKey() {
		return ErrCurrentKey
	}
	h := keyHandle(id)
	if _, err := r.be.Stat(ctx, h); err != nil {
		return &FileError{File: h, Op: "remove", Err: err}
	}
	if err := r.be.Remove(ctx, h); err != nil {
		return &FileError{File: h, Op: "remove", Err: err}
	}
	return nil
}

// ChangePassword replaces the key in use by a new key file for password: the
// new key is stored before the old one is removed, so a crash leaves one of
// the two passwords working.
func (r *Repository) ChangePassword(ctx context.Context, password string, opts KeyOptions) (ID, error) {
	id, err := r.AddKey(ctx, password, opts)
	if err != nil {
		return ID{}, err
	}
	r.mu.Lock()
	old := r.keyID
	r.keyID = id
	r.mu.Unlock()
	if err := r.be.Remove(ctx, keyHandle(old)); err != nil {
		return id, &FileError{File: keyHandle(old), Op: "remove old key", Err: err}
	}
	return id, nil
}

// currentKey returns the ID of the key file in use.
func (r *Repository) currentKey() ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keyID
}
