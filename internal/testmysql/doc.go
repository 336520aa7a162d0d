// Package testmysql starts a throwaway MariaDB server for a test, from the
// programs of Debian's mariadb-server and mariadb-client packages
// (mariadb-install-db, mariadbd, mariadb-admin, mariadb, mariadb-dump).
//
// The server lives in a fresh temporary directory: its data directory,
// error log, pid file, unix socket and a client option file. It listens on
// no TCP port, lets the database user root in without a password, reads
// no option file of the system (--no-defaults), and trades durability for
// speed. Start registers a cleanup that shuts it down (killing it if it
// does not stop) and removes the directory.
//
// When the test runs as root the server runs as the mysql OS user
// (mariadbd --user=mysql switches to it); otherwise as the current user.
// Client programs run as the current user and connect as root.
//
// Client programs find the server through the environment of Server.Env:
// MYSQL_UNIX_PORT names the socket, and MARIADB_HOME and MYSQL_HOME (the
// clients read the first one set) point at the server's directory, whose
// my.cnf sets socket, user and protocol in [client]. MYSQL_UNIX_PORT alone
// would not do: Debian's /etc/mysql/mariadb.cnf sets
// socket=/run/mysqld/mysqld.sock, and option files outrank the variable;
// $MARIADB_HOME/my.cnf is read after /etc/mysql/my.cnf, so its settings
// win (only a ~/.my.cnf would still override them).
//
// As with testpg, without mariadbd or the other programs (looked for in
// PATH, /usr/sbin and /usr/bin) Start skips the test, or fails it when
// CAIRN_REQUIRE_INTEGRATION=1; CI installs Debian's mariadb-server.
package testmysql
