package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/repo/backend"
)

// FormatVersion is the repository format this code reads and writes: the
// version byte of the config file. See FORMAT.md.
const FormatVersion = envelope.Version

// maxFileSize bounds the decoded payload of a config, snapshot or lock file.
const maxFileSize = 64 << 20

var configHandle = backend.Handle{Type: backend.ConfigFile}

// Config holds what is fixed for the life of a repository.
type Config struct {
	// ID identifies the repository, for instance in cache paths.
	ID ID `json:"id"`
	// Created is when Init ran.
	Created time.Time `json:"created"`
	// Chunking is the chunk size limits every writer must use, so equal
	// content gives equal chunks whoever writes it.
	Chunking chunk.Params `json:"chunking"`
}

func (c Config) validate() error {
	if c.ID.IsZero() {
		return errors.New("config: no repository ID")
	}
	return c.Chunking.Validate()
}

// loadConfigHeader loads the config and checks its version before anything
// costly (deriving keys) happens.
func loadConfigHeader(ctx context.Context, be backend.Backend) ([]byte, error) {
	data, err := backend.LoadAll(ctx, be, configHandle)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("no repository here (config missing): %w", err)
	}
	if err != nil {
		return nil, &FileError{File: configHandle, Op: "load", Err: err}
	}
	if err := envelope.CheckHeader(envelope.Config, data); err != nil {
		return nil, &FileError{File: configHandle, Op: "decode", Err: err}
	}
	return data, nil
}

func decodeConfig(k *crypto.Key, data []byte) (Config, error) {
	var c Config
	payload, err := envelope.Open(k, envelope.Config, data, maxFileSize)
	if err == nil {
		err = json.Unmarshal(payload, &c)
		if err == nil {
			err = c.validate()
		}
		if err != nil && !errors.Is(err, crypto.ErrCorrupt) {
			err = fmt.Errorf("%v: %w", err, crypto.ErrCorrupt)
		}
	}
	if err != nil {
		return c, &FileError{File: configHandle, Op: "decode", Err: err}
	}
	return c, nil
}

func saveConfig(ctx context.Context, be backend.Backend, k *crypto.Key, c Config) error {
	payload, err := json.Marshal(c)
	if err != nil {
		return err
	}
	data := envelope.Seal(k, envelope.Config, payload, compress.Off)
	if err := be.Save(ctx, configHandle, backend.NewByteReader(data)); err != nil {
		return &FileError{File: configHandle, Op: "save", Err: err}
	}
	return nil
}
