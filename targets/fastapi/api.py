"""The application: routes under /api/v1 following the full-stack FastAPI template.

Routes are plain `def` (run on FastAPI's thread pool, one SQLModel session each) as in the
template; only the identity dependency is `async` (it awaits between storing and reading back
the caller's id, see identity.py).
"""

import uuid
from collections.abc import Generator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy import event
from sqlmodel import Session, SQLModel, create_engine, func, select

import security
from identity import access_control
from models import (
    Item,
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemUpdate,
    Message,
    Token,
    User,
    UserPublic,
    UserRegister,
)

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")


def make_engine(db_path: str):
    """SQLite in WAL mode with a generous busy timeout, pooled for the thread pool's width."""
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=40,
        max_overflow=0,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    SQLModel.metadata.create_all(engine)
    return engine


def create_app(db_path: str) -> FastAPI:
    engine = make_engine(db_path)

    def get_db() -> Generator[Session, None, None]:
        with Session(engine) as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_db)]

    async def caller_id(token: Annotated[str, Depends(reusable_oauth2)]) -> uuid.UUID:
        return await access_control.caller_id(token)

    def get_current_user(
        session: SessionDep, user_id: Annotated[uuid.UUID, Depends(caller_id)]
    ) -> User:
        user = session.get(User, user_id)
        if not user:
            raise HTTPException(status_code=404, detail="User not found")
        if not user.is_active:
            raise HTTPException(status_code=400, detail="Inactive user")
        return user

    CurrentUser = Annotated[User, Depends(get_current_user)]

    login = APIRouter(tags=["login"])

    @login.post("/login/access-token")
    def login_access_token(
        session: SessionDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]
    ) -> Token:
        user = session.exec(select(User).where(User.email == form_data.username)).first()
        if not user or not security.verify_password(form_data.password, user.hashed_password):
            raise HTTPException(status_code=400, detail="Incorrect email or password")
        if not user.is_active:
            raise HTTPException(status_code=400, detail="Inactive user")
        return Token(access_token=security.create_access_token(str(user.id)))

    users = APIRouter(prefix="/users", tags=["users"])

    @users.post("/signup", response_model=UserPublic)
    def register_user(session: SessionDep, user_in: UserRegister) -> User:
        if session.exec(select(User).where(User.email == user_in.email)).first():
            raise HTTPException(
                status_code=400, detail="The user with this email already exists in the system"
            )
        user = User(
            email=user_in.email,
            full_name=user_in.full_name,
            hashed_password=security.hash_password(user_in.password),
        )
        session.add(user)
        try:
            session.commit()
        except Exception:  # the unique index lost a race against a concurrent signup
            session.rollback()
            raise HTTPException(
                status_code=400, detail="The user with this email already exists in the system"
            ) from None
        session.refresh(user)
        return user

    @users.get("/me", response_model=UserPublic)
    def read_user_me(current_user: CurrentUser) -> User:
        return current_user

    items = APIRouter(prefix="/items", tags=["items"])

    def owned_item(session: Session, current_user: User, item_id: uuid.UUID) -> Item:
        item = session.get(Item, item_id)
        if not item:
            raise HTTPException(status_code=404, detail="Item not found")
        if not current_user.is_superuser and item.owner_id != current_user.id:
            raise HTTPException(status_code=403, detail="Not enough permissions")
        return item

    @items.get("/", response_model=ItemsPublic)
    def read_items(
        session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100
    ) -> ItemsPublic:
        mine = Item.owner_id == current_user.id
        count = session.exec(select(func.count()).select_from(Item).where(mine)).one()
        page = session.exec(
            select(Item).where(mine).order_by(Item.created_at.desc()).offset(skip).limit(limit)
        ).all()
        return ItemsPublic(data=[ItemPublic.model_validate(item) for item in page], count=count)

    @items.post("/", response_model=ItemPublic)
    def create_item(session: SessionDep, current_user: CurrentUser, item_in: ItemCreate) -> Item:
        item = Item.model_validate(item_in, update={"owner_id": current_user.id})
        session.add(item)
        session.commit()
        session.refresh(item)
        return item

    @items.get("/{id}", response_model=ItemPublic)
    def read_item(session: SessionDep, current_user: CurrentUser, id: uuid.UUID) -> Item:
        return owned_item(session, current_user, id)

    @items.put("/{id}", response_model=ItemPublic)
    def update_item(
        session: SessionDep, current_user: CurrentUser, id: uuid.UUID, item_in: ItemUpdate
    ) -> Item:
        item = owned_item(session, current_user, id)
        item.sqlmodel_update(item_in.model_dump(exclude_unset=True))
        session.add(item)
        session.commit()
        session.refresh(item)
        return item

    @items.delete("/{id}")
    def delete_item(session: SessionDep, current_user: CurrentUser, id: uuid.UUID) -> Message:
        item = owned_item(session, current_user, id)
        session.delete(item)
        session.commit()
        return Message(message="Item deleted successfully")

    api = APIRouter()
    api.include_router(login)
    api.include_router(users)
    api.include_router(items)
    app = FastAPI(title="racebench FastAPI target", openapi_url="/api/v1/openapi.json")
    app.include_router(api, prefix="/api/v1")
    return app
