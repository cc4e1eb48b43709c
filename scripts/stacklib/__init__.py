"""The parts of scripts/stack.py, which runs a real Kafka broker and PostgreSQL server without Docker.

stack.py only reads its command line and calls these; each module has one job:

    common.py     the one error type, output, log tails, port and process checks
    config.py     the settings, from the environment
    kafka.py      the broker: its jars, server.properties, start, wait, stop, kill -9
    postgres.py   the PostgreSQL cluster: install, initdb, start, stop, its databases and roles
    secured.py    STACK_SECURE=1: passwords, the broker's TLS material and listeners, a principal's variables
    provision.py  STACK_SECURE=1: the broker's SCRAM users, topics and ACLs, as the topic registry says
    lifecycle.py  up, down, crash, reset and status of one STACK_DIR, under its lock
    clients.py    what programs get: `env` (the variables) and `exec` (a command run against the stack)

The package is not called `stack`: with scripts/ on sys.path (as when stack.py runs), `import stack`
would then find the package instead of the script.
"""
