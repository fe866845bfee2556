"""API tokens and the staff who sign in to the consoles."""

import sys
from typing import Annotated, Any

import typer

from app.cli.base import run, staff_cli, token_cli
from app.domain.errors import InvalidInput
from app.domain.roles import Employer, Role


@token_cli.command("create")
def token_create(
    municipality: Annotated[str, typer.Option()],
    role: Annotated[Role | None, typer.Option(help="Required unless --staff gives it")] = None,
    name: Annotated[str | None, typer.Option(help="Required unless --staff gives it")] = None,
    office: Annotated[str | None, typer.Option()] = None,
    employer: Annotated[Employer | None, typer.Option()] = None,
    qualification: Annotated[
        list[str] | None, typer.Option(help="Procedure code; repeatable")
    ] = None,
    contract: Annotated[
        str | None, typer.Option(help="Vendor contract id (vendor-side tokens only)")
    ] = None,
    staff: Annotated[
        str | None, typer.Option(help="Staff number of the person this token belongs to")
    ] = None,
) -> None:
    """Create a token and print it, alone, on stdout (it is not shown again)."""
    from app.services import people
    from app.services.admin import create_token
    from app.services.batches import bind_token

    async def work(uow: Any) -> Any:
        person = await people.get_staff(uow, municipality, staff) if staff is not None else None
        token_role = role or (Role(person.role) if person else None)
        token_name = name or (person.name if person else None)
        if token_role is None or token_name is None:
            raise InvalidInput.field(
                "role", "required", "--role と --name が必要です (--role and --name, or --staff)"
            )
        issued = await create_token(
            uow,
            municipality,
            role=token_role,
            name=token_name,
            office_id=office,
            employer=employer or (Employer(person.employer) if person else None),
            qualifications=qualification or None,
        )
        if contract is not None:
            await bind_token(uow, issued.token, contract)
        if staff is not None:
            await people.link_token(uow, issued.token, municipality, staff)
        return issued

    sys.stdout.write(run(work).secret + "\n")


@token_cli.command("revoke")
def token_revoke(
    municipality: Annotated[str, typer.Option()], token_id: Annotated[str, typer.Argument()]
) -> None:
    """Revoke a token by its id."""
    from app.services.admin import revoke_token

    run(lambda uow: revoke_token(uow, municipality, token_id))
    typer.echo("revoked", err=True)


def _read_password(prompt: bool) -> str:
    """The password from standard input (one line), never from the command line."""
    if prompt and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("パスワード / password: ")
        if getpass.getpass("もう一度 / again: ") != first:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@staff_cli.command("create")
def staff_create(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option(help="The city's or vendor's staff number")],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()],
    employer: Annotated[Employer, typer.Option()],
    office: Annotated[str | None, typer.Option()] = None,
    contract: Annotated[str | None, typer.Option(help="Vendor contract id (vendor staff)")] = None,
    qualification: Annotated[
        list[str] | None, typer.Option(help="Procedure code; repeatable")
    ] = None,
    sso_subject: Annotated[
        str | None, typer.Option(help="The user the city's SSO proxy names")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="SSO sign-in only")] = False,
) -> None:
    """
    Register a person who signs in to the consoles; the password is read from stdin (or asked).
    """
    from app.services import people

    password = None if no_password else _read_password(not password_stdin)
    person = run(
        lambda uow: people.create_staff(
            uow,
            municipality,
            staff_id=staff_id,
            name=name,
            role=role,
            employer=employer,
            office_id=office,
            contract_id=contract,
            password=password,
            sso_subject=sso_subject,
            qualifications=qualification or None,
        )
    )
    typer.echo(person.id)


@staff_cli.command("passwd")
def staff_passwd(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Set a person's password (read from stdin or asked); their sessions end."""
    from app.services import people

    password = _read_password(not password_stdin)
    run(lambda uow: people.set_password(uow, municipality, staff_id, password))
    typer.echo("password set", err=True)


@staff_cli.command("deactivate")
def staff_deactivate(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option()],
) -> None:
    """The person can no longer sign in; sessions end, their tokens stop working."""
    from app.services import people

    run(lambda uow: people.deactivate(uow, municipality, staff_id))
    typer.echo("deactivated", err=True)
