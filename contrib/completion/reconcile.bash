# bash completion for reconcile (installed as
# /usr/share/bash-completion/completions/reconcile). The commands and flags
# are those of `reconcile <command> --help` (reconciler/cli_*.c, demo.c).

_reconcile()
{
	local cur prev words cword
	_init_completion -s || return

	local cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W 'plan apply serve report validate codes demo help version --help --version' -- "$cur"))
		return
	fi

	case $prev in
	-c | --config | -o | --out | --pms-snapshot)
		_filedir
		return
		;;
	--dir)
		_filedir -d
		return
		;;
	-f | --format)
		COMPREPLY=($(compgen -W 'text json csv html' -- "$cur"))
		return
		;;
	--log-format)
		COMPREPLY=($(compgen -W 'json text' -- "$cur"))
		return
		;;
	--refresh)
		COMPREPLY=($(compgen -W 'true false' -- "$cur"))
		return
		;;
	-s | --site | -u | --user | --listen)
		return
		;;
	esac

	local opts
	case $cmd in
	plan) opts='-c --config -s --site --json -o --out --detailed-exitcode --refresh=false --pms-snapshot -q --quiet --no-color -h --help' ;;
	apply) opts='-c --config -s --site --auto-approve --allow-destructive --refresh=false -q --quiet --no-color -h --help' ;;
	serve) opts='-c --config --listen --log-format -h --help' ;;
	report) opts='-c --config -s --site -f --format -o --out --refresh=false --pms-snapshot --detailed-exitcode -q --quiet --no-color -h --help' ;;
	validate) opts='-c --config -h --help' ;;
	codes)
		if [[ " ${words[*]:0:cword} " != *" regenerate "* ]]; then
			COMPREPLY=($(compgen -W 'regenerate' -- "$cur"))
			return
		fi
		opts='-c --config -s --site -u --user --auto-approve --no-color -h --help'
		;;
	demo) opts='--dir --keep -h --help' ;;
	*) return ;;
	esac
	if [[ $cur == -* || $cmd != apply ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
	else
		_filedir # apply's PLANFILE
		COMPREPLY+=($(compgen -W "$opts" -- "$cur"))
	fi
} &&
	complete -F _reconcile reconcile

# ex: filetype=sh
