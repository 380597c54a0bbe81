"""Decide employees' expense bills against a policy: policy + folders (or a ZIP) -> results.json.

    uv run python -m scripts.batch.batch_expense_bills --policy policy.txt --folders ./bills -o results.json
    uv run python -m scripts.batch.batch_expense_bills --policy policy.pdf --zip folders.zip -o results.json --model gpt-4o
    uv run python -m scripts.batch.batch_expense_bills --policy policy.txt --folders ./bills -o out.json --dry-run

The work lives in `clients.batch.runner.run`; this file declares flags and maps the outcome
to an exit code (0 every bill read, 2 some bills or archive entries failed, 3 none could be
read, 1 bad arguments or the output is locked, 130 interrupted).
"""

from __future__ import annotations

import argparse
import re
import sys

from scripts.batch.base import BaseBatchRunner, BatchOutcome, UsageError
from scripts.batch.common import OutputPath, add_common_args, apply_framework_overrides, check_output_paths, path_arg

EPILOG = """\
folders: each subfolder of --folders is one employee; a name like EMP014_Asha_oct_acme gives
  the employee id, name, claim month and client (fewer parts work). Bills are found recursively.
outputs: results.json (-o), policy_extract.json next to it, the optional --csv, and a cache
  under <output folder>/.cache/ so a re-run reads only new or changed bills.
exit codes: 0 every bill read (whatever the decisions), 2 some bills (or ZIP entries) could not
  be read, 3 none could, 1 bad arguments / unreadable policy / output locked, 130 interrupted.
"""


def _currency(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise argparse.ArgumentTypeError(f"expected an ISO 4217 code such as INR, got {text!r}")
    return code


class ExpenseBillsJob(BaseBatchRunner):
    name = "batch_expense_bills"
    description = "Read expense bills, check them against the policy, and decide: APPROVED, REJECTED or NEEDS_REVIEW."
    epilog = EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--policy", type=path_arg, required=True, help="policy file (txt, md, pdf incl. scanned, docx, image)")
        parser.add_argument("--policy-rules", type=path_arg, help="extra approval rules, read before the policy text")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--folders", type=path_arg, help="folder of employee folders")
        source.add_argument("--zip", type=path_arg, help="ZIP of employee folders (extracted safely)")
        source.add_argument("--bills", type=path_arg, help="a folder or a .zip (chooses --folders or --zip)")
        parser.add_argument("--client-addresses", type=path_arg, help="JSON: client code -> list of addresses (cab checks)")
        parser.add_argument("--currency", type=_currency, default="INR", help="currency of bills that show none (default INR)")
        parser.add_argument("--date-order", choices=("DMY", "MDY"), default="DMY", help="how to read 03/04/2024 (default DMY)")
        parser.add_argument("--csv", type=path_arg, help="also write one row per bill to this CSV")
        parser.add_argument("--force", action="store_true", help="ignore cached bill readings and read every bill again")
        add_common_args(
            parser, output=True, model=True, retries=True, workers=True,
            output_help="results file (default: $OUTPUT_DIR/results.json)",
        )

    def validate_args(self, args: argparse.Namespace) -> None:
        if args.bills is not None:
            if args.bills.is_dir():
                args.folders = args.bills
            elif args.bills.suffix.lower() == ".zip" or args.bills.is_file():
                args.zip = args.bills
            else:
                raise UsageError(f"--bills: no such folder or ZIP: {args.bills}")
        if args.policy.is_dir():
            raise UsageError(f"--policy: {args.policy} is a folder; give the policy file itself")
        if not args.policy.is_file():
            raise UsageError(f"--policy: file not found: {args.policy}")
        if args.policy_rules is not None and not args.policy_rules.is_file():
            raise UsageError(f"--policy-rules: file not found: {args.policy_rules}")
        if args.folders is not None and not args.folders.is_dir():
            raise UsageError(f"--folders: not a folder: {args.folders}")
        if args.zip is not None and not args.zip.is_file():
            raise UsageError(f"--zip: file not found: {args.zip}")
        if args.client_addresses is not None and not args.client_addresses.is_file():
            raise UsageError(f"--client-addresses: file not found: {args.client_addresses}")
        apply_framework_overrides(args.model, {"LLM_MAX_RETRIES": args.retries})
        if args.output is None:
            from framework.config import get_settings

            args.output = get_settings().output_dir / "results.json"
        from clients.batch.runner import output_over_input

        conflict = output_over_input(self._config(args))
        if conflict is not None:
            raise UsageError(conflict)
        # last, so a bad input flag creates no output folder (policy_extract.json and the
        # cache go next to -o, so its folder is checked too)
        check_output_paths(
            [OutputPath("-o/--output", args.output), OutputPath("--csv", args.csv)], dry_run=args.dry_run
        )

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome:
        from clients.batch.dry_run import plan_run
        from clients.batch.runner import job_outputs, own_paths
        from framework.locking import RunLock

        RunLock(args.output).check_free()  # another run writing the same results.json
        config = self._config(args)
        own_files, own_dirs = own_paths(config)
        # raises, as the real run does, when there is no bill at all (exit 1)
        plan = plan_run(folders=args.folders, zip_path=args.zip, own_files=own_files, own_dirs=own_dirs)
        print(f"policy: {args.policy}" + (f" (+ rules {args.policy_rules})" if args.policy_rules else ""))
        for line in plan.lines:
            print(line)
        print("would write: " + ", ".join(str(path) for path in job_outputs(config).values()))
        # counted as the real run counts: bills are done; refused archive entries and bills
        # certain to fail (empty, a type no reader knows) are failed
        return BatchOutcome(done=plan.bills - plan.unreadable, failed=plan.refused + plan.unreadable,
                            details={"bills": plan.bills})

    @staticmethod
    def _config(args: argparse.Namespace):
        from clients.batch.runner import ExpenseJobConfig

        return ExpenseJobConfig(
            policy=args.policy, output=args.output, folders=args.folders, zip=args.zip,
            policy_rules=args.policy_rules, client_addresses=args.client_addresses, csv=args.csv,
            workers=args.workers, currency=args.currency, date_order=args.date_order, force=args.force,
            retries=args.retries, log_file=args.log_file,
        )

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        from clients.batch.runner import run

        result = run(self._config(args))
        s = result.summary
        self.log.info(
            "bills: %d (%d read now, %d from cache): approved %d, rejected %d, needs review %d, failed %d; "
            "%d refused archive entries; approved %s %.2f of %.2f claimed -> %s",
            result.bills_total, result.bills_read, result.bills_cached, s.approved, s.rejected, s.needs_review,
            s.failed, len(result.issues), s.currency, s.approved_amount, s.claimed_amount, result.results_path,
        )
        return BatchOutcome(
            done=result.bills_ok,
            failed=result.bills_failed + len(result.issues),
            details={"results": str(result.results_path), "from_cache": result.bills_cached},
        )


def main() -> None:
    sys.exit(int(ExpenseBillsJob().run()))


if __name__ == "__main__":
    main()
