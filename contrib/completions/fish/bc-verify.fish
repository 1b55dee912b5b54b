# fish completion for bc-verify. Generated from its command line by
# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.
complete -c bc-verify -f
complete -c bc-verify -l dir -x -a '(__fish_complete_directories)' -d 'Chain directory'
complete -c bc-verify -l genesis -x -d 'Require this genesis hash (64 hex digits)'
complete -c bc-verify -l help -s h -d 'Show context-sensitive help'
complete -c bc-verify -l json -d 'Print one JSON report per input on stdout'
complete -c bc-verify -l lock-wait -x -d 'How long to wait for the chain lock before reporting who holds it'
complete -c bc-verify -l log-backups -x -d 'Rotated log files to keep'
complete -c bc-verify -l log-file -r -F -d 'Write the log to FILE instead of stderr (for programs with a chain directory, a relative path is inside --dir, e.g'
complete -c bc-verify -l log-format -x -a 'text json' -d 'Log format: text or json'
complete -c bc-verify -l log-level -x -a 'debug info warn error' -d 'Log level: debug, info, warn or error'
complete -c bc-verify -l log-max-size -x -d 'Size in MiB at which --log-file is rotated'
complete -c bc-verify -l max-future -x -d 'How far ahead of this machine\'s clock a block timestamp may be'
complete -c bc-verify -l plugin-dir -x -a '(__fish_complete_directories)' -d 'Directory searched first for bc-pow-<name> strategy plugins (then the directory of this program)'
complete -c bc-verify -l progress -x -a 'auto always never' -d 'Progress bar on stderr: auto (when stderr is a terminal and the input is large), always or never'
complete -c bc-verify -l quiet -s q -d 'Print nothing; the exit code tells'
complete -c bc-verify -l version -d 'Print the version and exit'
complete -c bc-verify -F
